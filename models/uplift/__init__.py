"""Contact response (uplift): what each action, at each contact window, changes in what a borrower
pays (docs/uplift.md)."""
