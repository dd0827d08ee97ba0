// Command etcd is upstream etcd's server, built from the go.etcd.io/etcd/server/v3 module
// at the version pinned in ../versions.env. ddq's tests run it as the control plane's store.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
