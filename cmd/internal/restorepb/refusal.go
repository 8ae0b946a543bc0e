package restorepb

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Refuse is StartRestore's FAILED_PRECONDITION answer: msg for people, and
// a RestoreRefusal detail (reason, node) for programs.
func Refuse(reason RestoreRefusal_Reason, node, msg string) error {
	st := status.New(codes.FailedPrecondition, msg)
	if d, err := st.WithDetails(&RestoreRefusal{Reason: reason, Node: node}); err == nil {
		st = d
	}
	return st.Err()
}

// RefusalOf returns the RestoreRefusal detail of a gRPC error, nil when it
// carries none (another error, or a server that sends no detail).
func RefusalOf(err error) *RestoreRefusal {
	var se interface{ GRPCStatus() *status.Status }
	if err == nil || !errors.As(err, &se) {
		return nil
	}
	for _, d := range se.GRPCStatus().Details() {
		if r, ok := d.(*RestoreRefusal); ok {
			return r
		}
	}
	return nil
}
