"""The command line, `bayes-sauce <command>`: argument parsing, one error boundary, and one module per group of commands."""
