package control

import (
	"encoding/json"
	"fmt"
	"strings"
)

// HostMapping is one node of a restore: Target restores the backup Source
// took.
type HostMapping struct {
	Source string `json:"source" yaml:"source"`
	Target string `json:"target" yaml:"target"`
}

// HostMap is a restore's mappings, in the operator's order: by sorted rack,
// then sorted host.
type HostMap []HostMapping

// BuildHostMap maps the backup's nodes of datacenter onto the racks of the
// target datacenter as k8ssandra-operator's GetHostMap does: source and
// target racks are sorted by name (NetworkTopologyStrategy places replicas
// by rack order), hosts sorted within each rack, and the j-th host of the
// i-th source rack restores onto the j-th host of the i-th target rack.
// Rack names need not match here (ValidateRestore checks them); rack counts
// and sizes must.
func BuildHostMap(source []BackupNode, datacenter string, target []Rack) (HostMap, error) {
	byRack := map[string][]string{}
	for _, n := range source {
		if n.Datacenter == datacenter {
			byRack[n.Rack] = append(byRack[n.Rack], n.Host)
		}
	}
	src := sortedRacks(byRack)
	if len(src) == 0 {
		return nil, fmt.Errorf("the backup has no node in datacenter %s", datacenter)
	}
	if len(src) != len(target) {
		return nil, fmt.Errorf("number of racks in source != racks in destination: the backup has %d (%s), the datacenter %d (%s)",
			len(src), rackNames(src), len(target), rackNames(target))
	}
	var out HostMap
	for i, sr := range src {
		dr := target[i]
		if len(sr.Hosts) != len(dr.Hosts) {
			return nil, fmt.Errorf("source rack %s has %d nodes and destination rack %s %d: racks are matched in sorted order and must be the same size",
				sr.Name, len(sr.Hosts), dr.Name, len(dr.Hosts))
		}
		for j, h := range sr.Hosts {
			out = append(out, HostMapping{Source: h, Target: dr.Hosts[j]})
		}
	}
	return out, nil
}

func rackNames(racks []Rack) string {
	names := make([]string, 0, len(racks))
	for _, r := range racks {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// InPlace reports whether every node restores its own backup.
func (m HostMap) InPlace() bool {
	for _, h := range m {
		if h.Source != h.Target {
			return false
		}
	}
	return true
}

// Source returns the host whose backup target restores ("" when none).
func (m HostMap) Source(target string) string {
	for _, h := range m {
		if h.Target == target {
			return h.Source
		}
	}
	return ""
}

// RestoreMapping is the operator's RESTORE_MAPPING: what the RESTORE
// container of every node reads.
type RestoreMapping struct {
	InPlace bool                     `json:"in_place" yaml:"in_place"`
	HostMap map[string]MappingSource `json:"host_map" yaml:"host_map"`
}

// MappingSource is one target's entry of RESTORE_MAPPING.
type MappingSource struct {
	Source []string `json:"source" yaml:"source"`
	Seed   bool     `json:"seed" yaml:"seed"`
}

// Mapping returns m as RESTORE_MAPPING.
func (m HostMap) Mapping() RestoreMapping {
	rm := RestoreMapping{InPlace: m.InPlace(), HostMap: make(map[string]MappingSource, len(m))}
	for _, h := range m {
		rm.HostMap[h.Target] = MappingSource{Source: []string{h.Source}}
	}
	return rm
}

// JSON returns the mapping as the one-line JSON RESTORE_MAPPING holds.
func (rm RestoreMapping) JSON() string {
	b, _ := json.Marshal(rm) // maps of strings: cannot fail
	return string(b)
}

// ValidateRestore checks that backup mb can be restored to dc, as
// k8ssandra-operator's MedusaRestoreJob does: the backup finished, on every
// node (finishedNodes = totalNodes), with as many nodes as the datacenter,
// all in a datacenter of that name, in the same racks. The error matches
// ErrRefused.
func ValidateRestore(mb MedusaBackup, dc *Datacenter) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: backup %s cannot be restored to datacenter %s: %s", ErrRefused, mb.Name, dc.Name, fmt.Sprintf(format, args...))
	}
	if mb.FinishTime.IsZero() {
		return refuse("target backup has not finished (status %s)", mb.Status)
	}
	if mb.FinishedNodes != mb.TotalNodes {
		return refuse("target backup has not completed successfully: %d of %d nodes finished", mb.FinishedNodes, mb.TotalNodes)
	}
	if mb.TotalNodes != len(dc.Nodes) {
		return refuse("node counts differ for source backup and destination datacenter: the backup has %d nodes, the datacenter %d", mb.TotalNodes, len(dc.Nodes))
	}
	rackSizes := map[string]int{}
	for _, n := range mb.Nodes {
		if n.Datacenter != dc.Name {
			return refuse("target datacenter has different name than backup: node %s of the backup is in datacenter %q", n.Host, n.Datacenter)
		}
		rackSizes[n.Rack]++
	}
	racks := dc.Racks()
	if len(rackSizes) != len(racks) {
		return refuse("amount of racks must match in backup and target datacenter: the backup has %d, the datacenter %d (%s)", len(rackSizes), len(racks), rackNames(racks))
	}
	for _, r := range racks {
		if _, ok := rackSizes[r.Name]; !ok {
			return refuse("rack names must match in backup and target datacenter: the backup has no rack %s", r.Name)
		}
	}
	return nil
}
