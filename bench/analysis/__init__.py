"""Analysis of stored measurements and of exported graphs: counting, correlation, roofline."""
