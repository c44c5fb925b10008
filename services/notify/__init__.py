"""notify: the Postfach, e-mail alerts without social data, reminders."""
