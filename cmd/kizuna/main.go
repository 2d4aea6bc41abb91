// Command kizuna is the Kizuna customer success platform: one binary that
// serves the UI and API, imports data and computes metrics.
package main

import (
	"os"

	"github.com/kizuna-cs/kizuna/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
