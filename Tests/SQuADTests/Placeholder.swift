// SQuAD tests live here.
