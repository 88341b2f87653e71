package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cofferdb/coffer/storage/ledger"
)

// Files of the node's identities in the data dir. service.pem is what
// verifiers need; the keys are 0600 (until the enclave issue seals them).
const (
	ServiceCertFile = "service.pem"
	serviceKeyFile  = "service-key.pem"
	nodeCertFile    = "node.pem"
	nodeKeyFile     = "node-key.pem"
)

// loadIdentities returns the node identity, creating the service identity
// and an endorsed node identity at genesis.
func loadIdentities(dataDir, nodeID string) (service, node *ledger.Identity, err error) {
	p := func(name string) string { return filepath.Join(dataDir, name) }
	service, err = ledger.LoadIdentity(p(ServiceCertFile), p(serviceKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		if service, err = ledger.NewServiceIdentity("coffer"); err != nil {
			return nil, nil, err
		}
		if err = service.Save(p(ServiceCertFile), p(serviceKeyFile)); err != nil {
			return nil, nil, fmt.Errorf("server: save service identity: %w", err)
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("server: service identity: %w", err)
	}
	node, err = ledger.LoadIdentity(p(nodeCertFile), p(nodeKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		if node, err = ledger.NewNodeIdentity(nodeID, service); err != nil {
			return nil, nil, err
		}
		if err = node.Save(p(nodeCertFile), p(nodeKeyFile)); err != nil {
			return nil, nil, fmt.Errorf("server: save node identity: %w", err)
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("server: node identity: %w", err)
	}
	if err := ledger.Endorsed(node.Cert, service.Cert); err != nil {
		return nil, nil, err
	}
	if _, statErr := os.Stat(p(ServiceCertFile)); statErr != nil {
		return nil, nil, statErr
	}
	return service, node, nil
}
