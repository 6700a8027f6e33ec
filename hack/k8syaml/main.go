// k8s-yaml-read: read YAML the way kubectl does and print it as JSON, so tests can compare kubectl's reading of
// rayctl's output with rayctl's own.
//
//	k8s-yaml-read < manifest.yaml      # prints a JSON array: one element per non-empty document
//
// Documents are split as k8s.io/apimachinery/pkg/util/yaml's YAMLReader splits them (a line starting with `---`,
// followed only by spaces or a comment), and each is converted by sigs.k8s.io/yaml.YAMLToJSON: the conversion
// `kubectl apply -f` and `kubectl create -f` use (go-yaml v2, YAML 1.1 rules: `y`, `on`, `1e3` are not strings).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

func splitDocuments(data []byte) ([][]byte, error) {
	var docs [][]byte
	var current bytes.Buffer
	reader := bufio.NewReader(bytes.NewReader(data))
	for {
		line, err := reader.ReadBytes('\n')
		if len(line) > 0 {
			if bytes.HasPrefix(line, []byte("---")) {
				rest := strings.TrimSpace(string(line[3:]))
				if rest != "" && !strings.HasPrefix(rest, "#") {
					return nil, fmt.Errorf("invalid YAML document separator: %q", strings.TrimSpace(string(line)))
				}
				docs = append(docs, append([]byte(nil), current.Bytes()...))
				current.Reset()
			} else {
				current.Write(line)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return append(docs, current.Bytes()), nil
}

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-yaml-read:", err)
		os.Exit(1)
	}
	docs, err := splitDocuments(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-yaml-read:", err)
		os.Exit(1)
	}
	out := []json.RawMessage{}
	for index, doc := range docs {
		converted, err := yaml.YAMLToJSON(doc)
		if err != nil {
			fmt.Fprintf(os.Stderr, "k8s-yaml-read: document %d: %v\n", index+1, err)
			os.Exit(1)
		}
		if string(bytes.TrimSpace(converted)) == "null" {
			continue // an empty document: kubectl skips it
		}
		out = append(out, converted)
	}
	encoded, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-yaml-read:", err)
		os.Exit(1)
	}
	os.Stdout.Write(encoded)
	os.Stdout.Write([]byte("\n"))
}
