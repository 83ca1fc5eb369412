{{/*
The chart name, or nameOverride. 63 characters: the DNS label limit of
resource names.
*/}}
{{- define "shardinit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every resource: fullnameOverride, else "<release>-<name>",
else just the release name when it already contains the chart name.
*/}}
{{- define "shardinit.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "shardinit.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shardinit.labels" -}}
helm.sh/chart: {{ include "shardinit.chart" . }}
{{ include "shardinit.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels never change over a release's life (a Deployment's selector
is immutable), so nothing version-dependent goes here.
*/}}
{{- define "shardinit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shardinit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "shardinit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shardinit.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The container image: repository@digest when a digest is given, else
repository:tag. The chart names no default image: a release must say which
server it runs.
*/}}
{{- define "shardinit.image" -}}
{{- $image := .Values.image }}
{{- if not $image.repository }}
{{- fail "image.repository is required: your server's image, with shardinit as its ENTRYPOINT ([\"/shardinit\", \"--\"]); e.g. --set image.repository=registry.example.com/team/api,image.tag=1.4.2" }}
{{- end }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/*
The container's args, as a JSON list: args, or command, its former name,
kept as an alias for one release (NOTES.txt warns). Never both: one
would silently win.
*/}}
{{- define "shardinit.args" -}}
{{- if and .Values.args .Values.command }}
{{- fail "args and command are both set: command is the former name of args (deprecated); keep only args" }}
{{- end }}
{{- toJson (.Values.args | default .Values.command | default list) }}
{{- end }}

{{/*
The lowest port below 1024 among the listeners and the health port, or ""
when there is none. Binding it needs privilege (see deployment.yaml).
*/}}
{{- define "shardinit.lowPort" -}}
{{- $low := 1024 }}
{{- range .Values.shardinit.listen }}
{{- if lt (int .port) $low }}{{ $low = int .port }}{{ end }}
{{- end }}
{{- if lt (int .Values.shardinit.healthPort) $low }}{{ $low = int .Values.shardinit.healthPort }}{{ end }}
{{- if lt $low 1024 }}{{ $low }}{{ end }}
{{- end }}

{{/*
A CPU quantity ("500m", "2", 1.5) in whole CPUs, rounded up, as shardinit
counts its limit; "" for no quantity.
*/}}
{{- define "shardinit.cpus" -}}
{{- $cpu := toString (. | default "") }}
{{- if $cpu }}
{{- $milli := 0 }}
{{- if hasSuffix "m" $cpu }}
{{- $milli = trimSuffix "m" $cpu | atoi }}
{{- else }}
{{- $milli = mulf (float64 $cpu) 1000 | ceil | int }}
{{- end }}
{{- div (add $milli 999) 1000 }}
{{- end }}
{{- end }}

{{/*
The worker count shardinit derives from resources.limits.cpu when
shardinit.workers is 0: the limit in CPUs, rounded up. "" without a limit.
*/}}
{{- define "shardinit.cpuLimitWorkers" -}}
{{- include "shardinit.cpus" (dig "limits" "cpu" "" (.Values.resources | default dict)) }}
{{- end }}

{{/*
The workers setting of shardinit.yaml: shardinit.workers, or with
shardinit.workersFromRequests the CPU request, rounded up and at least 1
(without a CPU limit shardinit would count the node's CPUs).
*/}}
{{- define "shardinit.workers" -}}
{{- $s := .Values.shardinit }}
{{- if $s.workersFromRequests }}
{{- $request := dig "requests" "cpu" "" (.Values.resources | default dict) }}
{{- if not $request }}
{{- fail "shardinit.workersFromRequests sizes the pool from resources.requests.cpu, which is not set" }}
{{- end }}
{{- if gt (int $s.workers) 0 }}
{{- fail (printf "shardinit.workersFromRequests and shardinit.workers %d both size the pool: set one" (int $s.workers)) }}
{{- end }}
{{- max 1 (include "shardinit.cpus" $request | int) }}
{{- else }}
{{- int $s.workers }}
{{- end }}
{{- end }}

{{/*
The listeners a Service can reach, as a JSON list: all but those bound to a
loopback address, which only the pod itself can connect to.
*/}}
{{- define "shardinit.serviceListeners" -}}
{{- $out := list }}
{{- range .Values.shardinit.listen }}
{{- $addr := .address | default "" }}
{{- if not (or (hasPrefix "127." $addr) (eq $addr "::1")) }}
{{- $out = append $out . }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/*
The pod's terminationGracePeriodSeconds. shardinit needs drain-delay, then
stop-timeout, after SIGTERM; the kubelet's SIGKILL must not come sooner.
*/}}
{{- define "shardinit.terminationGracePeriod" -}}
{{- $s := .Values.shardinit }}
{{- $need := add (int $s.drainDelaySeconds) (int $s.stopTimeoutSeconds) }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $need 5 }}
{{- else if lt (int .Values.terminationGracePeriodSeconds) (int $need) }}
{{- fail (printf "terminationGracePeriodSeconds %d is shorter than shardinit.drainDelaySeconds + shardinit.stopTimeoutSeconds = %d: the kubelet would SIGKILL shardinit before its workers have stopped; raise it (or set it to null to derive %d)" (int .Values.terminationGracePeriodSeconds) (int $need) (int (add $need 5))) }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/*
"true" when pods on a node share their ports (hostNetwork + shareHostPorts):
no containerPorts are declared, so probes and Services name ports by number.
*/}}
{{- define "shardinit.sharePorts" -}}
{{- if and .Values.hostNetwork .Values.shareHostPorts }}true{{ end }}
{{- end }}

{{/*
A port reference for probes and Service targetPorts: the containerPort's name,
or the number when no containerPorts are declared. Takes (list $ name port).
*/}}
{{- define "shardinit.portRef" -}}
{{- $root := index . 0 -}}
{{- if include "shardinit.sharePorts" $root }}{{ int (index . 2) }}{{ else }}{{ index . 1 }}{{ end }}
{{- end }}

{{/*
shareHostPorts is safe only when the old pod is stopping while the new one
waits for the health port, and when every listener can be shared.
*/}}
{{- define "shardinit.validateSharing" -}}
{{- if .Values.shareHostPorts }}
{{- if not .Values.hostNetwork }}
{{- fail "shareHostPorts needs hostNetwork: without it every pod has ports of its own" }}
{{- end }}
{{- if ne .Values.shardinit.sockets "per-worker" }}
{{- fail "shareHostPorts needs shardinit.sockets per-worker: a shared socket has no SO_REUSEPORT, so the replacement pod could not bind it" }}
{{- end }}
{{- if eq .Values.strategy.type "RollingUpdate" }}
{{- /* Kubernetes takes a missing maxSurge as 25%, which rounds up to a pod. */}}
{{- $surge := dig "maxSurge" "unset (Kubernetes' default, 25%)" (.Values.strategy.rollingUpdate | default dict) | toString }}
{{- if not (has $surge (list "0" "0%")) }}
{{- fail (printf "shareHostPorts needs strategy.rollingUpdate.maxSurge 0 (it is %s): a surge pod would wait for the health port of a pod that is not stopping" $surge) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Checks that relate several values, included by deployment.yaml so that every
render runs them. values.schema.json states those it can (its allOf), so that
helm lint reports them; these stay for renders that skip the schema. Only
here: distinct listener names and ports, minReady against the worker count,
the grace period against drain + stop, minReplicas against maxReplicas
(draft-07 compares no two values).
*/}}
{{- define "shardinit.validate" -}}
{{- $_ := include "shardinit.image" . }}
{{- $s := .Values.shardinit }}
{{- $names := dict }}
{{- $ports := dict (toString (int $s.healthPort)) "the health port (shardinit.healthPort)" }}
{{- range $s.listen }}
{{- if eq .name "health" }}
{{- fail "shardinit.listen: the name \"health\" is reserved for the health port" }}
{{- end }}
{{- if hasKey $names .name }}
{{- fail (printf "shardinit.listen: the name %q is used twice" .name) }}
{{- end }}
{{- $_ := set $names .name true }}
{{- $port := toString (int .port) }}
{{- if hasKey $ports $port }}
{{- fail (printf "shardinit.listen %q: port %s is already used by %s" .name $port (get $ports $port)) }}
{{- end }}
{{- $_ := set $ports $port (printf "listener %q" .name) }}
{{- end }}
{{- if and (gt (int $s.workers) 0) (gt (int $s.minReady) (int $s.workers)) }}
{{- fail (printf "shardinit.minReady %d is more than shardinit.workers %d: /readyz could never pass" (int $s.minReady) (int $s.workers)) }}
{{- end }}
{{- $workers := include "shardinit.workers" . | int }}
{{- if and $s.workersFromRequests (gt (int $s.minReady) $workers) }}
{{- fail (printf "shardinit.minReady %d is more than the %d workers that resources.requests.cpu %v gives (shardinit.workersFromRequests): /readyz could never pass" (int $s.minReady) $workers .Values.resources.requests.cpu) }}
{{- end }}
{{- /* workers 0 means ceil(CPU limit): shardinit would refuse to start with more minReady than that. */}}
{{- $cpuWorkers := include "shardinit.cpuLimitWorkers" . }}
{{- if and (eq $workers 0) $cpuWorkers (gt (int $s.minReady) (int $cpuWorkers)) }}
{{- fail (printf "shardinit.minReady %d is more than the %s workers that resources.limits.cpu %v gives (shardinit.workers is 0): shardinit would refuse to start; set shardinit.workers" (int $s.minReady) $cpuWorkers .Values.resources.limits.cpu) }}
{{- end }}
{{- if .Values.service.enabled }}
{{- if not (include "shardinit.serviceListeners" . | fromJsonArray) }}
{{- fail "service.enabled: every listener binds a loopback address, which a Service cannot reach; set service.enabled to false" }}
{{- end }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (dig "requests" "cpu" "" (.Values.resources | default dict))) }}
{{- fail "autoscaling.enabled needs resources.requests.cpu: the HPA's CPU target is a percentage of it" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas %d is more than autoscaling.maxReplicas %d" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- $_ := include "shardinit.terminationGracePeriod" . }}
{{- $_ := include "shardinit.validateSharing" . }}
{{- end }}
