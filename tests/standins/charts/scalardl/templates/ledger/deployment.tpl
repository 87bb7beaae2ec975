{{- $v := .Values.ledger }}
{{- $cfg := $v.scalarLedgerConfiguration }}
{{- $db := include "scalardl.dbSecretName" . }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "scalardl.fullname" . }}-ledger
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "scalardl.labels" . | nindent 4 }}
spec:
  replicas: {{ $v.replicaCount }}
  selector:
    matchLabels:
      {{- include "scalardl.selectorLabels" . | nindent 6 }}
  {{- with $v.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  template:
    metadata:
      annotations:
        {{- /* A change of the properties changes this hash, which rolls the pods. */}}
        checksum/config: {{ include (print $.Template.BasePath "/ledger/configmap.tpl") . | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- $selector := include "scalardl.selectorLabels" . | fromYaml }}
        {{- toYaml (merge $selector ($v.podLabels | default dict)) | nindent 8 }}
    spec:
      restartPolicy: Always
      {{- with $v.serviceAccount.serviceAccountName }}
      serviceAccountName: {{ . }}
      {{- end }}
      automountServiceAccountToken: {{ $v.serviceAccount.automountServiceAccountToken }}
      terminationGracePeriodSeconds: 60
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      volumes:
        - name: scalardl-ledger-properties-volume
          configMap:
            name: {{ include "scalardl.fullname" . }}-ledger-properties
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      containers:
        - name: {{ .Chart.Name }}-ledger
          image: "{{ $v.image.repository }}:{{ $v.image.version }}"
          imagePullPolicy: {{ $v.image.pullPolicy }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          ports:
            - containerPort: 50051
            - containerPort: 50052
            - containerPort: 50053
            - containerPort: 8080
          env:
            - name: HELM_SCALAR_DB_CONTACT_POINTS
              value: {{ $cfg.dbContactPoints | toString | quote }}
            - name: HELM_SCALAR_DB_CONTACT_PORT
              value: {{ $cfg.dbContactPort | toString | quote }}
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
            - name: HELM_SCALAR_DB_STORAGE
              value: {{ $cfg.dbStorage | toString | quote }}
            - name: SCALAR_DL_LEDGER_LOG_LEVEL
              value: {{ $cfg.ledgerLogLevel | toString | quote }}
            - name: HELM_SCALAR_DL_LEDGER_PROOF_ENABLED
              value: {{ $cfg.ledgerProofEnabled | toString | quote }}
            - name: HELM_SCALAR_DL_LEDGER_PROOF_PRIVATE_KEY_PATH
              value: {{ printf "/keys/%s" $cfg.ledgerPrivateKeySecretKey | quote }}
            {{- if $cfg.ledgerAuditorEnabled }}
            - name: HELM_SCALAR_DL_LEDGER_AUDITOR_ENABLED
              value: {{ $cfg.ledgerAuditorEnabled | toString | quote }}
            {{- end }}
          {{- with $v.secretName }}
          envFrom:
            - secretRef:
                name: {{ . | quote }}
          {{- end }}
          volumeMounts:
            - name: scalardl-ledger-properties-volume
              mountPath: /scalar/ledger/ledger.properties.tmpl
              subPath: ledger.properties.tmpl
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
