package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
)

// maxRecvMsgSize is what the control plane accepts from a sidecar: a
// GetBackups reply of many thousands of backups, as Medusa's server may
// send up to 512 MiB.
const maxRecvMsgSize = 512 << 20

// pool keeps one gRPC connection per sidecar (address and TLS settings).
type pool struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

// client returns the Medusa client of node n, connecting lazily: an
// unreachable sidecar shows as Unavailable on the first call, not here.
func (p *pool) client(n *Node) (medusapb.MedusaClient, error) {
	cc, err := p.conn(n)
	if err != nil {
		return nil, err
	}
	return medusapb.NewMedusaClient(cc), nil
}

// restoreClient returns the NodeRestore client of node n, on the same
// connection as its Medusa client: the extension is served beside it.
func (p *pool) restoreClient(n *Node) (restorepb.NodeRestoreClient, error) {
	cc, err := p.conn(n)
	if err != nil {
		return nil, err
	}
	return restorepb.NewNodeRestoreClient(cc), nil
}

func (p *pool) conn(n *Node) (*grpc.ClientConn, error) {
	key := fmt.Sprintf("%s|%s|%s|%s|%s", n.Address, n.TLS.CACert, n.TLS.TLSCert, n.TLS.TLSKey, n.TLS.ServerName)
	p.mu.Lock()
	defer p.mu.Unlock()
	if cc, ok := p.conns[key]; ok {
		return cc, nil
	}
	creds := insecure.NewCredentials()
	tc, err := n.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", n.Name, err)
	}
	if tc != nil {
		creds = credentials.NewTLS(tc)
	}
	cc, err := grpc.NewClient(n.Address, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsgSize)))
	if err != nil {
		return nil, fmt.Errorf("node %s: sidecar address %s: %w", n.Name, n.Address, err)
	}
	if p.conns == nil {
		p.conns = map[string]*grpc.ClientConn{}
	}
	p.conns[key] = cc
	return cc, nil
}

func (p *pool) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for k, cc := range p.conns {
		errs = append(errs, cc.Close())
		delete(p.conns, k)
	}
	return errors.Join(errs...)
}

// call runs one RPC under its own deadline.
func call[T any](ctx context.Context, timeout time.Duration, rpc func(context.Context) (T, error)) (T, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return rpc(ctx)
}

// transient reports whether a failed call may succeed if tried again: the
// sidecar is unreachable, restarting, or slow. Refusals (NOT_FOUND, a bad
// name, another backup running) are final.
func transient(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Unknown, codes.Internal, codes.ResourceExhausted:
		return true
	}
	return false
}

// rpcMessage is a gRPC error as one short line: "Unavailable: ...".
func rpcMessage(err error) string {
	if s, ok := status.FromError(err); ok {
		return fileerr.OneLine(s.Code().String() + ": " + s.Message())
	}
	return fileerr.OneLine(err.Error())
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
