"""The open session, without Textual: the workspace (its SessionFolder and lock), the label editor
with undo and autosave, the decoded-frame cache, and the recently opened sessions."""
