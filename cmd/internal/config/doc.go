// Package config loads cassette's configuration file.
//
// One loader reads the three shapes operators already have:
//
//   - cassette YAML: a storageProperties map (named as in Mission Control's
//     MedusaConfiguration), a cassandra map, cacheDir and a grpc map (how
//     `cassette serve` listens);
//   - a Kubernetes manifest (MedusaConfiguration, MissionControlCluster or
//     K8ssandraCluster), possibly one document of a multi-document stream, from
//     which the storageProperties are taken;
//   - Medusa's medusa.ini, whose [storage], [cassandra] and [grpc] keys are
//     mapped to the same fields, reading data_file_directories from the
//     cassandra.yaml that [cassandra] config_file names.
//
// Load parses and reports unknown keys (with a did-you-mean suggestion) but
// neither applies defaults nor validates: the command applies its flag
// overrides first, then calls ApplyDefaults and Validate. Every error is one
// line naming the file and key and saying what to do; no error, note or YAML
// output ever contains a secret value (see providers.Secret).
//
// docs/configuration.md is the operator-facing reference for every key.
package config
