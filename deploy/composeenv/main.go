// Command composeenv prints the environment compose.yaml gives a service,
// as NAME=VALUE lines, for deploy/local-replicas.sh:
//
//	go run ./deploy/composeenv deploy/compose.yaml authserve-1
package main

import (
	"fmt"
	"os"

	"github.com/authserve/authserve/deploy"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: composeenv COMPOSE_FILE SERVICE")
		os.Exit(2)
	}
	c, err := deploy.LoadCompose(os.Args[1])
	if err == nil {
		var env []string
		if env, err = c.Env(os.Args[2]); err == nil {
			for _, kv := range env {
				fmt.Println(kv)
			}
			return
		}
	}
	fmt.Fprintln(os.Stderr, "composeenv:", err)
	os.Exit(1)
}
