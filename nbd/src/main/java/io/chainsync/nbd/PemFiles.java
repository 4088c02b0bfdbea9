package io.chainsync.nbd;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CRL;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Reads the PEM files of a libnbd/GnuTLS certificate directory: certificates, CRLs and unencrypted
 * private keys in the three encodings {@code certtool} and {@code openssl} write (PKCS#8
 * {@code PRIVATE KEY}, PKCS#1 {@code RSA PRIVATE KEY}, SEC1 {@code EC PRIVATE KEY}). The two legacy
 * encodings are only re-wrapped as PKCS#8 (the DER structure of RFC 5208); the JDK's
 * {@link KeyFactory} decodes the key. Text around the PEM blocks (certtool writes a description
 * first) is ignored.
 */
final class PemFiles {

    private static final String BEGIN = "-----BEGIN ";
    private static final String END = "-----END ";
    /** 1.2.840.113549.1.1.1 rsaEncryption. */
    private static final byte[] OID_RSA = {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
    /** 1.2.840.10045.2.1 id-ecPublicKey. */
    private static final byte[] OID_EC = {0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private PemFiles() {
    }

    /** One PEM block: its label ("CERTIFICATE", "RSA PRIVATE KEY", ...) and decoded bytes. */
    record Block(String label, byte[] der) {
    }

    static List<Block> read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        List<Block> blocks = new ArrayList<>();
        int at = 0;
        while ((at = text.indexOf(BEGIN, at)) >= 0) {
            int labelEnd = text.indexOf("-----", at + BEGIN.length());
            if (labelEnd < 0) {
                throw new IOException(file + ": malformed PEM header");
            }
            String label = text.substring(at + BEGIN.length(), labelEnd);
            String endMarker = END + label + "-----";
            int end = text.indexOf(endMarker, labelEnd);
            if (end < 0) {
                throw new IOException(file + ": PEM block '" + label + "' has no end line");
            }
            String body = text.substring(labelEnd + 5, end);
            if (body.contains(":")) {
                throw new IOException(file + ": PEM block '" + label + "' has headers (an encrypted key?), "
                        + "which are not supported");
            }
            try {
                blocks.add(new Block(label, Base64.getMimeDecoder().decode(body)));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": bad base64 in PEM block '" + label + "'", e);
            }
            at = end + endMarker.length();
        }
        return blocks;
    }

    static List<X509Certificate> certificates(Path file) throws IOException {
        return decodeAll(file, List.of("CERTIFICATE", "X509 CERTIFICATE"), "certificate",
                (factory, der) -> (X509Certificate) factory.generateCertificate(der));
    }

    static List<CRL> crls(Path file) throws IOException {
        return decodeAll(file, List.of("X509 CRL"), "CRL (X509 CRL)", CertificateFactory::generateCRL);
    }

    @FunctionalInterface
    private interface Decoder<T> {
        T decode(CertificateFactory factory, ByteArrayInputStream der) throws GeneralSecurityException;
    }

    /** Every block with one of {@code labels}, decoded; at least one. */
    private static <T> List<T> decodeAll(Path file, List<String> labels, String what, Decoder<T> decoder)
            throws IOException {
        List<T> decoded = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Block block : read(file)) {
                if (labels.contains(block.label())) {
                    decoded.add(decoder.decode(factory, new ByteArrayInputStream(block.der())));
                }
            }
        } catch (GeneralSecurityException e) {
            throw new IOException(file + ": cannot decode " + what + ": " + e.getMessage(), e);
        }
        if (decoded.isEmpty()) {
            throw new IOException(file + ": no PEM " + what + " found");
        }
        return decoded;
    }

    static PrivateKey privateKey(Path file) throws IOException {
        for (Block block : read(file)) {
            switch (block.label()) {
                case "PRIVATE KEY":
                    return pkcs8(file, block.der());
                case "RSA PRIVATE KEY":
                    return pkcs8(file, wrapPkcs8(sequence(rsaAlgorithm()), block.der()));
                case "EC PRIVATE KEY":
                    return pkcs8(file, wrapPkcs8(sequence(concat(tlv(0x06, OID_EC), ecCurve(file, block.der()))),
                            block.der()));
                case "ENCRYPTED PRIVATE KEY":
                    throw new IOException(file + ": encrypted private keys are not supported (GnuTLS and libnbd "
                            + "need an unencrypted key too)");
                default:
                    // e.g. EC PARAMETERS before the key: skip
            }
        }
        throw new IOException(file + ": no PEM private key found");
    }

    private static byte[] rsaAlgorithm() {
        return concat(tlv(0x06, OID_RSA), new byte[] {0x05, 0x00});
    }

    private static PrivateKey pkcs8(Path file, byte[] der) throws IOException {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        GeneralSecurityException last = null;
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS", "DSA"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new IOException(file + ": unsupported or malformed private key", last);
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier, OCTET STRING privateKey }. */
    private static byte[] wrapPkcs8(byte[] algorithmIdentifier, byte[] key) {
        return sequence(concat(new byte[] {0x02, 0x01, 0x00}, algorithmIdentifier, tlv(0x04, key)));
    }

    /**
     * The named curve of a SEC1 ECPrivateKey ::= SEQUENCE { version 1, OCTET STRING privateKey,
     * [0] parameters OPTIONAL, [1] publicKey OPTIONAL }, as a DER OBJECT IDENTIFIER.
     */
    private static byte[] ecCurve(Path file, byte[] sec1) throws IOException {
        Der outer = new Der(sec1, 0);
        if (outer.tag != 0x30) {
            throw new IOException(file + ": malformed EC PRIVATE KEY");
        }
        int at = outer.contentStart;
        while (at < outer.end) {
            Der element = new Der(sec1, at);
            if (element.tag == 0xa0) {
                Der oid = new Der(sec1, element.contentStart);
                if (oid.tag != 0x06) {
                    throw new IOException(file + ": EC PRIVATE KEY without a named curve");
                }
                byte[] out = new byte[oid.end - element.contentStart];
                System.arraycopy(sec1, element.contentStart, out, 0, out.length);
                return out;
            }
            at = element.end;
        }
        throw new IOException(file + ": EC PRIVATE KEY names no curve (write it as PKCS#8: certtool --to-p8)");
    }

    /** One DER element header: tag, where its content starts, where it ends. */
    private static final class Der {
        final int tag;
        final int contentStart;
        final int end;

        Der(byte[] der, int at) throws IOException {
            if (at + 2 > der.length) {
                throw new IOException("truncated DER");
            }
            tag = der[at] & 0xff;
            int length = der[at + 1] & 0xff;
            int start = at + 2;
            if (length >= 0x80) {
                int octets = length & 0x7f;
                if (octets == 0 || octets > 3 || start + octets > der.length) {
                    throw new IOException("unsupported DER length");
                }
                length = 0;
                for (int i = 0; i < octets; i++) {
                    length = (length << 8) | (der[start + i] & 0xff);
                }
                start += octets;
            }
            if (start + length > der.length) {
                throw new IOException("truncated DER");
            }
            contentStart = start;
            end = start + length;
        }
    }

    private static byte[] sequence(byte[] content) {
        return tlv(0x30, content);
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else if (n < 0x100) {
            out.write(0x81);
            out.write(n);
        } else if (n < 0x10000) {
            out.write(0x82);
            out.write(n >> 8);
            out.write(n);
        } else {
            out.write(0x83);
            out.write(n >> 16);
            out.write(n >> 8);
            out.write(n);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
