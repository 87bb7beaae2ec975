{{- /* database.properties.tmpl: rendered into database.properties by the container's entrypoint. */}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "scalardb.fullname" . }}-database-properties
  namespace: {{ .Release.Namespace }}
data:
  database.properties.tmpl:
    {{- .Values.scalardb.databaseProperties | toYaml | nindent 4 }}
