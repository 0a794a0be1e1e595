"""Indicator tables: live survey figures for linked leaves, the 附件1 sheet, scored tables as JSON, the editor."""
