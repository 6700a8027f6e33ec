// Reads JSON-encoded strings (one per line) on stdin; prints one JSON object per line with what
// k8s.io/apimachinery's resource.ParseQuantity says about each, and whether the KubeRay CRD's
// quantity pattern (argv[1]) matches it (the API server checks both for a RayService).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"

	"k8s.io/apimachinery/pkg/api/resource"
)

type result struct {
	In      string `json:"in"`
	GoOK    bool   `json:"go_ok"`
	Pattern bool   `json:"pattern"`
	Dec     string `json:"dec,omitempty"`
	Str     string `json:"str,omitempty"`
	Err     string `json:"err,omitempty"`
}

func main() {
	pattern := regexp.MustCompile(os.Args[1])
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for scanner.Scan() {
		var in string
		if err := json.Unmarshal(scanner.Bytes(), &in); err != nil {
			fmt.Fprintln(os.Stderr, "bad input line:", err)
			os.Exit(2)
		}
		r := result{In: in, Pattern: pattern.MatchString(in)}
		q, err := resource.ParseQuantity(in)
		if err != nil {
			r.Err = err.Error()
		} else {
			r.GoOK = true
			r.Dec = q.AsDec().String()
			r.Str = q.String()
		}
		if err := out.Encode(r); err != nil {
			os.Exit(3)
		}
	}
}
