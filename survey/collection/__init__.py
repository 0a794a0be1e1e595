"""Getting answers in: channels, unit codes, posters, paper entry, review, the response browser, imports."""
