{{- define "tessera.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tessera.fullname" -}}
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

{{- define "tessera.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "tessera.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tessera.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tessera.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "tessera.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "tessera.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tessera.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tessera.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* config.yaml: the `config` value, with SQLite on the data volume when it names no storage
(a default in values.yaml would be merged into a user's postgres settings). */}}
{{- define "tessera.config" -}}
{{- $config := deepCopy .Values.config }}
{{- if not $config.storage }}
{{- $_ := set $config "storage" (dict "type" "sqlite3" "config" (dict "file" "/var/lib/tessera/tessera.db")) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* Where config.yaml comes from: a Secret the chart renders (configSecret.create, Dex's
way), an existing Secret (configSecret.name), an existing ConfigMap, or the chart's ConfigMap. */}}
{{- define "tessera.configSource" -}}
{{- if .Values.configSecret.create }}rendered-secret
{{- else if .Values.configSecret.name }}existing-secret
{{- else if .Values.existingConfigMap }}existing-configmap
{{- else }}rendered-configmap
{{- end }}
{{- end }}

{{- define "tessera.configName" -}}
{{- $source := include "tessera.configSource" . }}
{{- if eq $source "existing-configmap" }}{{ .Values.existingConfigMap }}
{{- else if eq $source "existing-secret" }}{{ .Values.configSecret.name }}
{{- else if eq $source "rendered-secret" }}{{ default (printf "%s-config" (include "tessera.fullname" .)) .Values.configSecret.name }}
{{- else }}{{ include "tessera.fullname" . }}
{{- end }}
{{- end }}

{{/* Storage shared by several pods (PostgreSQL, MySQL): from config.storage, or, for a
config the chart does not see (existingConfigMap, configSecret.name), from sharedStorage. */}}
{{- define "tessera.sharedStorage" -}}
{{- $type := "" }}
{{- with .Values.config.storage }}{{ $type = .type }}{{ end }}
{{- if or (has $type (list "postgres" "mysql")) .Values.sharedStorage }}true{{ end }}
{{- end }}

{{/* SQLite's file lives on a volume claim: persistence on, and the storage not shared. */}}
{{- define "tessera.claim" -}}
{{- if and .Values.persistence.enabled (not (include "tessera.sharedStorage" .)) }}true{{ end }}
{{- end }}

{{/* A PodDisruptionBudget value that is set: not null and not "". */}}
{{- define "tessera.isSet" -}}
{{- if and (not (kindIs "invalid" .)) (ne (toString .) "") }}true{{ end }}
{{- end }}

{{/* The chart refuses what cannot work, with a message saying what to change. */}}
{{- define "tessera.validate" -}}
{{- $several := or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- if and $several (not (include "tessera.sharedStorage" .)) }}
{{- fail "more than one replica (replicaCount > 1 or autoscaling.enabled) needs config.storage.type postgres or mysql (or sharedStorage: true when the config comes from existingConfigMap or configSecret.name): SQLite and memory storage are one pod's own" }}
{{- end }}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled (include "tessera.isSet" $pdb.minAvailable) (include "tessera.isSet" $pdb.maxUnavailable) }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- if and .Values.grpc.enabled .Values.networkPolicy.enabled (empty .Values.networkPolicy.grpcFrom) }}
{{- fail "networkPolicy.grpcFrom: name who may reach the admin API (an empty list would let every pod in)" }}
{{- end }}
{{- if and .Values.httpRoute.enabled (empty .Values.httpRoute.parentRefs) }}
{{- fail "httpRoute.parentRefs: name the Gateway(s) to attach to" }}
{{- end }}
{{- $grpc := default dict .Values.config.grpc }}
{{- $rendered := has (include "tessera.configSource" .) (list "rendered-configmap" "rendered-secret") }}
{{- if and .Values.grpc.enabled $rendered (not $grpc.tlsCert) (not $grpc.allowRemotePlaintext) }}
{{- fail "grpc.enabled: Tessera serves the admin API off loopback only with TLS (config.grpc.tlsCert, tlsKey, tlsClientCA) or config.grpc.allowRemotePlaintext: true behind a sidecar that does mTLS" }}
{{- end }}
{{- end }}
