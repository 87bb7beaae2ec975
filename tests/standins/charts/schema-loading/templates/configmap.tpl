{{- if .Values.schemaLoading.databaseProperties }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "schema-loading.fullname" . }}-database-properties
  namespace: {{ .Release.Namespace }}
data:
  database.properties.tmpl:
    {{- .Values.schemaLoading.databaseProperties | toYaml | nindent 4 }}
{{- end }}
