{{- $s := .Values.schemaLoading }}
{{- $db := include "schema-loading.dbSecretName" . }}
{{- /* A plain (non-hook) Job, as in the real chart: a Job's pod template is immutable, so a new
       run is a new release (or an uninstall first), not an upgrade. */}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "schema-loading.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "schema-loading.labels" . | nindent 4 }}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        {{- include "schema-loading.selectorLabels" . | nindent 8 }}
    spec:
      restartPolicy: Never
      {{- with $s.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: schema-import
          image: "{{ $s.image.repository }}:{{ $s.image.version }}"
          imagePullPolicy: {{ $s.image.pullPolicy | quote }}
          args:
            {{- include "schema-loading.args" . | trim | nindent 12 }}
          env:
            - name: HELM_SCALAR_DB_USERNAME
              valueFrom:
                secretKeyRef:
                  name: {{ $db }}
                  key: db-username
            - name: HELM_SCALAR_DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {{ $db }}
                  key: db-password
            - name: SCHEMA_TYPE
              value: {{ $s.schemaType | quote }}
          {{- with $s.secretName }}
          envFrom:
            - secretRef:
                name: {{ . | quote }}
          {{- end }}
          {{- if $s.databaseProperties }}
          volumeMounts:
            - name: scalardb-database-properties-volume
              mountPath: /scalardl-schema-loader/database.properties.tmpl
              subPath: database.properties.tmpl
          {{- end }}
      {{- if $s.databaseProperties }}
      volumes:
        - name: scalardb-database-properties-volume
          configMap:
            name: {{ include "schema-loading.fullname" . }}-database-properties
      {{- end }}
