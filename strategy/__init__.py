"""The contact strategy: for each account on a run date, what to do, when (local time and UTC) and why not otherwise.

Foundations that do not depend on the response models (docs/strategy.md):

- `actions`: the catalogue of actions (no contact, channels, the plan offer) and action-window pairs;
- `state`: the public state frame as the rulebook's `ContactState` and profile per row;
- `windows`: contact windows on the run date in each borrower's own time zone, in local time and UTC (DST-safe);
- `allowed`: every action in every window, allowed or the rulebook's reason that blocks it;
- `capacity`: what each action-window uses of the call centre's hours and the field agents' day;
- `allocation`: at most one action per borrower, maximising value within capacity (greedy or HiGHS LP);
- `verify`: an independent re-check of every recommendation through the rulebook;
- `output`: the recommendation table's columns.

The `recommend` stage (values from the uplift and roll-rate models) is what comes next.
"""
