package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// newTable starts a listing on w: tab-separated columns aligned with two
// spaces, header first. The caller writes rows and calls Flush.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}
