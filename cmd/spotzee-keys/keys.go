package main

import (
	"context"
	"fmt"
	"io"
)

// runKeys is replaced by the CLI of the client issue.
func runKeys(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "spotzee-keys keys: not built yet")
	return 1
}
