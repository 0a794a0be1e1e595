"""What every request, command and server shares: configuration, extensions, the Flask subclass and its overrides,
logs, health, the database driver's cursor, cookies, fonts, QR codes, local times.
"""
