{{- if not .Values.schemaLoading.existingSecret }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "schema-loading.dbSecretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "schema-loading.labels" . | nindent 4 }}
type: Opaque
data:
  db-username: {{ .Values.schemaLoading.username | toString | b64enc | quote }}
  db-password: {{ .Values.schemaLoading.password | toString | b64enc | quote }}
{{- end }}
