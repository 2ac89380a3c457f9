// Package deploy reads the deployment files of this directory (the
// Compose stack) with a real YAML library, for the deployment checks
// (deploy_test.go) and for local-replicas.sh (composeenv).
package deploy

import (
	"fmt"
	"os"
	"slices"

	"gopkg.in/yaml.v3"
)

// Compose is the part of compose.yaml the checks read. Anchors, aliases
// and merge keys (<<: *authserve) are resolved by the YAML library.
type Compose struct {
	Services map[string]Service `yaml:"services"`
	Networks map[string]Network `yaml:"networks"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

// Service is one service of compose.yaml.
type Service struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Command     Strings        `yaml:"command"`
	Restart     string         `yaml:"restart"`
	Environment map[string]any `yaml:"environment"`
	EnvFile     Strings        `yaml:"env_file"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck struct {
		Test    Strings `yaml:"test"`
		Disable bool    `yaml:"disable"`
	} `yaml:"healthcheck"`
	Ports           []string `yaml:"ports"`
	Networks        Names    `yaml:"networks"`
	Secrets         []string `yaml:"secrets"`
	Volumes         []string `yaml:"volumes"`
	StopGracePeriod string   `yaml:"stop_grace_period"`
}

// Network is one network of compose.yaml.
type Network struct {
	Internal bool `yaml:"internal"`
	IPAM     struct {
		Config []struct {
			Subnet string `yaml:"subnet"`
		} `yaml:"config"`
	} `yaml:"ipam"`
}

// Strings is a Compose field that is a list or a single string.
type Strings []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (s *Strings) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Strings{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// Names is a Compose field that is a list of names or a mapping keyed by
// them (a service's networks).
type Names []string

// UnmarshalYAML accepts a sequence or the keys of a mapping.
func (s *Names) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			*s = append(*s, n.Content[i].Value)
		}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// LoadCompose reads a compose file.
func LoadCompose(path string) (*Compose, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Compose
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Env returns a service's environment as NAME=VALUE lines, sorted by name;
// every value must be a string (quoted in YAML), as Compose requires.
func (c *Compose) Env(service string) ([]string, error) {
	s, ok := c.Services[service]
	if !ok {
		return nil, fmt.Errorf("no service %q", service)
	}
	names := make([]string, 0, len(s.Environment))
	for k := range s.Environment {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]string, 0, len(names))
	for _, k := range names {
		v, ok := s.Environment[k].(string)
		if !ok {
			return nil, fmt.Errorf("services.%s.environment.%s: want a string (quote it), got %T", service, k, s.Environment[k])
		}
		out = append(out, k+"="+v)
	}
	return out, nil
}

// EnvValue is one variable of a service's environment ("" when unset).
func (c *Compose) EnvValue(service, name string) string {
	v, _ := c.Services[service].Environment[name].(string)
	return v
}
