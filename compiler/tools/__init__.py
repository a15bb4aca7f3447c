"""The command line and the tools around the compiler (the site, and more as they move here)."""
