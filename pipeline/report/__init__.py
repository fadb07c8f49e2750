"""Reading the archive for people: comparative tables, peer ratios, step charts, a static
HTML report and exports with provenance.  Everything here only reads the database."""
