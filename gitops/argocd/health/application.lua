-- Argo CD health of an Application, as its own status reports it. Argo CD no longer assesses
-- child Applications by default; the ddq parents need it so that the chart (sync wave 0) waits
-- for the CRDs Application (wave -1) to be healthy.
local hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
