{{/*
Names and labels, computed the way the real schema-loading chart computes them:
fullname is "<release>-<chart>" unless the release name already contains the chart name.
*/}}
{{- define "schema-loading.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "schema-loading.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- $full := printf "%s-%s" .Release.Name $name -}}
{{- if .Values.fullnameOverride -}}
{{- $full = .Values.fullnameOverride -}}
{{- else if contains $name .Release.Name -}}
{{- $full = .Release.Name -}}
{{- end -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "schema-loading.selectorLabels" -}}
app.kubernetes.io/name: {{ include "schema-loading.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "schema-loading.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "schema-loading.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "schema-loading.dbSecretName" -}}
{{- .Values.schemaLoading.existingSecret | default (include "schema-loading.fullname" .) -}}
{{- end -}}

{{/*
Schema Loader arguments, one per line. With databaseProperties: the config file (rendered from the
mounted template to /tmp by the image's entrypoint) and, for Ledger, the coordinator tables.
Without: the legacy per-database options. commandArgs always come last.
*/}}
{{- define "schema-loading.args" -}}
{{- $s := .Values.schemaLoading -}}
{{- $args := list -}}
{{- if $s.databaseProperties -}}
{{- $args = list "--config" "/tmp/database.properties" -}}
{{- if eq $s.schemaType "ledger" }}{{ $args = append $args "--coordinator" }}{{ end -}}
{{- else -}}
{{- $args = list "-p" "$(HELM_SCALAR_DB_PASSWORD)" -}}
{{- $host := $s.contactPoints | toString -}}
{{- if eq $s.database "cassandra" -}}
{{- $args = concat $args (list "--cassandra" "-u" "$(HELM_SCALAR_DB_USERNAME)" "-h" $host "-P" ($s.contactPort | toString) "-n" ($s.cassandraReplicationStrategy | toString) "-R" ($s.cassandraReplicationFactor | toString)) -}}
{{- else if eq $s.database "cosmos" -}}
{{- $args = concat $args (list "--cosmos" "-h" $host "-r" ($s.cosmosBaseResourceUnit | toString)) -}}
{{- else if eq $s.database "dynamo" -}}
{{- $args = concat $args (list "--dynamo" "--region" $host "-u" "$(HELM_SCALAR_DB_USERNAME)" "-r" ($s.dynamoBaseResourceUnit | toString)) -}}
{{- else if eq $s.database "jdbc" -}}
{{- $args = concat $args (list "--jdbc" "-u" "$(HELM_SCALAR_DB_USERNAME)" "-j" $host) -}}
{{- end -}}
{{- end -}}
{{- range concat $args ($s.commandArgs | default list) }}
- {{ . | toString | quote }}
{{- end -}}
{{- end -}}
