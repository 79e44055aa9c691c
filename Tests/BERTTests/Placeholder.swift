// BERT tests live here.
