"""What a questionnaire is: the question-type registry, definitions, skip logic, localisation, the template library,
authoring, versions, publishing, JSON and XLSForm.
"""
