//! The `hosts` command's entry in pisubmit's flag table: it prints the list
//! --hosts expands to, for scripts and for the Ansible playbook's inventory
//! (packaging/ansible/inventory.sh), so both use pisubmit's own parser.

use crate::flags::{Command, Flag, Group};

pub(super) const HOSTS: Command = Command {
    name: "hosts",
    synopsis: "[--ansible]",
    about: "Print the workers --hosts (or PISUBMIT_HOSTS) names, one host[:port][/threads] per line as a hosts \
            file takes them, ranges expanded and duplicates merged, without contacting any: check a range like \
            192.168.{4..67}.{1..3} before using it, or turn it into a pi_list.txt. With --json, one object with \
            a \"hosts\" array of {host, port, threads}.",
    groups: &[Group {
        title: "HOSTS OPTIONS",
        about: "",
        flags: &[Flag::switch(
            "ansible",
            "Print an Ansible dynamic inventory instead (the JSON an inventory script prints for --list): \
             every host in the group \"piworkers\", with its port as the host variable piworker_port (a \
             /threads suffix is pisubmit's own limit and is left out). The playbook in /usr/share/piworker/ansible/ reads its hosts \
             this way (its inventory.sh runs pisubmit hosts --ansible). A machine listed with two ports is \
             refused: the playbook installs one piworker per machine.",
        )],
    }],
};
