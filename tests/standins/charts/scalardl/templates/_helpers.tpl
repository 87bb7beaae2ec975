{{/*
Names and labels, computed the way the real scalardl chart computes them:
fullname is "<release>-<chart>" unless the release name already contains the chart name.
*/}}
{{- define "scalardl.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scalardl.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- $full := printf "%s-%s" .Release.Name $name -}}
{{- if .Values.fullnameOverride -}}
{{- $full = .Values.fullnameOverride -}}
{{- else if contains $name .Release.Name -}}
{{- $full = .Release.Name -}}
{{- end -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scalardl.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scalardl.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/app: ledger
{{- end -}}

{{- define "scalardl.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "scalardl.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Secret with db-username/db-password: the chart's own one unless ledger.existingSecret is set. */}}
{{- define "scalardl.dbSecretName" -}}
{{- .Values.ledger.existingSecret | default (printf "%s-ledger" (include "scalardl.fullname" .)) -}}
{{- end -}}
