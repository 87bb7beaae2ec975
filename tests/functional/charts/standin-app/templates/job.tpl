{{- if .Values.job.enabled }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "standin-app.fullname" . }}-setup
  labels:
    {{- include "standin-app.labels" . | nindent 4 }}
spec:
  backoffLimit: 0
  template:
    metadata:
      {{- with .Values.job.fail }}
      annotations:
        standins.scalarops.io/fail: {{ . | quote }}
      {{- end }}
    spec:
      restartPolicy: Never
      containers:
        - name: setup
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          command: ["sh", "-c"]
          args:
            {{- if .Values.job.fail }}
            - {{ printf "echo %s; exit 1" (squote .Values.job.fail) | quote }}
            {{- else }}
            - {{ printf "echo setup %s" .Release.Name | quote }}
            {{- end }}
{{- end }}
