"""submissions: the cases, event-sourced, from draft to decision."""
