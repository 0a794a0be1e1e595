"""Flask-WTF form classes: static screens and the builder that turns a frozen version into a form."""
