"""SMS replies from clerks: taken from the gateway, matched to the person and to the
message they answer, read in the office's inbox."""
