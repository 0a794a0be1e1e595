"""What leaves as a file or text: the report text and its sandbox, the PDF, workbooks, datasets, the working-paper
bundle.
"""
