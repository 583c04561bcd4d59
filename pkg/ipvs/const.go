package ipvs

// Generic netlink family, from include/uapi/linux/ip_vs.h.
const (
	genlName    = "IPVS"
	genlVersion = 1
)

// Commands (IPVS_CMD_*).
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdGetInfo    = 15
)

// First-level attributes (IPVS_CMD_ATTR_*).
const (
	cmdAttrService = 1
	cmdAttrDest    = 2
)

// Service attributes (IPVS_SVC_ATTR_*).
const (
	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrStats     = 10
	svcAttrPEName    = 11
	svcAttrStats64   = 12
)

// Destination attributes (IPVS_DEST_ATTR_*).
const (
	destAttrAddr         = 1
	destAttrPort         = 2
	destAttrFwdMethod    = 3
	destAttrWeight       = 4
	destAttrUThresh      = 5
	destAttrLThresh      = 6
	destAttrActiveConns  = 7
	destAttrInactConns   = 8
	destAttrPersistConns = 9
	destAttrStats        = 10
	destAttrAddrFamily   = 11
	destAttrStats64      = 12
	destAttrTunType      = 13
	destAttrTunPort      = 14
	destAttrTunFlags     = 15
)

// Statistics attributes (IPVS_STATS_ATTR_*), inside the *_STATS and
// *_STATS64 nests.
const (
	statsAttrConns    = 1
	statsAttrInPkts   = 2
	statsAttrOutPkts  = 3
	statsAttrInBytes  = 4
	statsAttrOutBytes = 5
	statsAttrCPS      = 6
	statsAttrInPPS    = 7
	statsAttrOutPPS   = 8
	statsAttrInBPS    = 9
	statsAttrOutBPS   = 10
)

// Info attributes (IPVS_INFO_ATTR_*), in the IPVS_CMD_GET_INFO reply.
const (
	infoAttrVersion     = 1
	infoAttrConnTabSize = 2
)

// fwdMask is IP_VS_CONN_F_FWD_MASK.
const fwdMask = 0x0007

// addrLen is sizeof(union nf_inet_addr): the kernel's address attributes.
const addrLen = 16
