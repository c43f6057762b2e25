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

{{- define "tessera.configMapName" -}}
{{- default (include "tessera.fullname" .) .Values.existingConfigMap }}
{{- end }}

{{/* More than one pod at a time: replicas, an autoscaler, or a surge during a rollout. */}}
{{- define "tessera.sharedStorage" -}}
{{- $type := "" }}
{{- with .Values.config.storage }}{{ $type = .type }}{{ end }}
{{- if has $type (list "postgres" "mysql") }}true{{ end }}
{{- end }}

{{/* The chart refuses what cannot work: several pods on one SQLite file or in memory. */}}
{{- define "tessera.validate" -}}
{{- $several := or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- if and $several (not (include "tessera.sharedStorage" .)) (not .Values.existingConfigMap) (not .Values.configSecret.name) }}
{{- fail "more than one replica (replicaCount > 1 or autoscaling.enabled) needs config.storage.type postgres or mysql: SQLite and memory storage are one pod's own" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled .Values.podDisruptionBudget.minAvailable .Values.podDisruptionBudget.maxUnavailable }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- if and .Values.persistence.enabled (include "tessera.sharedStorage" .) }}
{{- fail "persistence is for SQLite's file; with postgres or mysql storage set persistence.enabled=false" }}
{{- end }}
{{- end }}
