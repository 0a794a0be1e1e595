"""The citizen's web path: links to snapshots, the cached page, the quick reader, the signed form token, proof of
work, and every speed measure of that path.
"""
