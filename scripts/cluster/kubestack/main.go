// Command kubestack bundles the Kubernetes control plane that the cluster tests run on
// localhost: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok (fake
// nodes and pods) and kubectl, built from pinned upstream modules into one binary.
//
//	kubestack etcd|apiserver|controller-manager|scheduler|kwok|kubectl [flags]
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	_ "time/tzdata"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

func main() {
	// Also answer to the upstream binary names, so a symlink named kubectl works.
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "kubestack" {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "usage: kubestack etcd|apiserver|controller-manager|scheduler|kwok|kubectl [flags]")
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	os.Exit(run(name, args))
}

func run(name string, args []string) int {
	switch name {
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, args...))
		return 0
	case "apiserver", "kube-apiserver":
		c := apiserver.NewAPIServerCommand()
		c.SetArgs(args)
		return cli.Run(c)
	case "controller-manager", "kube-controller-manager":
		c := controllermanager.NewControllerManagerCommand()
		c.SetArgs(args)
		return cli.Run(c)
	case "scheduler", "kube-scheduler":
		c := scheduler.NewSchedulerCommand()
		c.SetArgs(args)
		return cli.Run(c)
	case "kubectl":
		c := kubectlcmd.NewDefaultKubectlCommand()
		c.SetArgs(args)
		if err := cli.RunNoErrOutput(c); err != nil {
			// Prints the error the way kubectl does and exits non-zero.
			kubectlutil.CheckErr(err)
		}
		return 0
	case "kwok":
		return runKwok(args)
	}
	fmt.Fprintf(os.Stderr, "kubestack: unknown component %q\n", name)
	return 2
}

// runKwok mirrors upstream cmd/kwok: its global flags are parsed before the command's own. Without a --config
// it loads kwok's "fast" stages: nodes become Ready at once and keep a lease, pods start Ready, deleted pods go.
func runKwok(args []string) int {
	if !hasFlag(args, "--config") && !hasFlag(args, "-c") {
		file, err := defaultStages()
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubestack kwok:", err)
			return 1
		}
		defer os.Remove(file)
		args = append(args, "--config="+file)
	}
	// Cobra adds pflag.CommandLine to every command; the Kubernetes packages linked in here register their
	// own --version there, which clashes with the --version kwok's command declares.
	pflag.CommandLine = pflag.NewFlagSet("kwok", pflag.ExitOnError)
	flags := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flags.ParseErrorsAllowlist.UnknownFlags = true
	flags.Usage = func() {}
	os.Args = append([]string{"kwok"}, args...)
	ctx := signals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flags)
	ctx, err := kwokconfig.InitFlags(ctx, flags)
	if err != nil {
		logger.Error("init config flags", "err", err)
		return 1
	}
	c := kwokcmd.NewCommand(ctx)
	c.PersistentFlags().AddFlagSet(flags)
	c.SetArgs(args)
	if err := c.ExecuteContext(ctx); err != nil {
		logger.Error("kwok exited", "err", err)
		return 1
	}
	return 0
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

func defaultStages() (string, error) {
	stages := []string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}
	f, err := os.CreateTemp("", "kwok-stages-*.yaml")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(strings.Join(stages, "\n---\n"))
	return f.Name(), err
}
