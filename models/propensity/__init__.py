"""Propensity to pay: P(pays at least `features.ptp_min_share` of the amount past due within h days),
and the expected amount paid, for the accounts in arrears at the as-of date (docs/propensity.md)."""
