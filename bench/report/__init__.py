"""Reports: tables (CSV), plots, Markdown/HTML summaries. Each reads only result records."""
