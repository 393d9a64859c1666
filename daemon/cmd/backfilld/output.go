package main

import "io"

// printOut prints a command's result: as indented JSON with --json, else
// as text by text.
func printOut[T any](a *app, asJSON bool, v T, text func(io.Writer, T)) error {
	if asJSON {
		return writeJSON(a.stdout, v)
	}
	text(a.stdout, v)
	return nil
}
