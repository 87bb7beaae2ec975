{{- if not .Values.scalardb.existingSecret }}
{{- $cfg := .Values.scalardb.storageConfiguration }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "scalardb.dbSecretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardb.labels" . | nindent 4 }}
type: Opaque
data:
  db-username: {{ $cfg.username | toString | b64enc | quote }}
  db-password: {{ $cfg.password | toString | b64enc | quote }}
{{- end }}
