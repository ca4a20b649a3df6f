"""The commands, one module each; thin: parse, call the pipeline / store / analysis, hand records to a writer."""
